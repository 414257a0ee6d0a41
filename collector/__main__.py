from .cli import main

if __name__ == "__main__":
    # Named as the installed command, not "python -m collector", in usage and errors.
    main(prog_name="collector")
