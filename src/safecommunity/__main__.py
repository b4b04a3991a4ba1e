from safecommunity.cli import main

main()
