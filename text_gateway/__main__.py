import sys

from text_gateway.server import main

sys.exit(main())
