// React Native's own Jest preset: its babel transform, its native-module mocks
// and its ErrorUtils polyfill. The SDK ships untranspiled ES modules, so
// babel must transform it too.
module.exports = {
  preset: '@react-native/jest-preset',
  transformIgnorePatterns: ['node_modules/(?!((jest-)?react-native|@react-native(-community)?|@sentry)/)'],
  testTimeout: 30000,
};
