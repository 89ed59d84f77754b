import sys

from amtlocal.cli import main

sys.exit(main())
