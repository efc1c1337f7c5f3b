"""``python -m sandbox [--host H] [--port P]``"""

import sys

from sandbox.app import main

sys.exit(main())
