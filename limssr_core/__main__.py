from limssr_core.runtime import prefer_passive_openmp

prefer_passive_openmp()  # before torch (and with it OpenMP) is first imported

from limssr_core.commands import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
