from todo_api.cli import main

raise SystemExit(main())
