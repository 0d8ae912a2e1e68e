from central.meters.cli import main

raise SystemExit(main())
