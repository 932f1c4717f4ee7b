from tuivmm.cli import main

raise SystemExit(main())
