import sys

from model_server.main import main

sys.exit(main())
