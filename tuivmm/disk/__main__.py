from tuivmm.disk.tool import main

raise SystemExit(main())
