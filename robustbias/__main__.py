from robustbias.cli import main

raise SystemExit(main())
