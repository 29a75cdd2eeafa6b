from limssr_core.commands import main

if __name__ == "__main__":
    raise SystemExit(main())
