from kmsg_cli.cli.entry import main

main()
