from kmsg_cli.cli.app import main

main()
