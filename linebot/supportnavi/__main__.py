from supportnavi.cli import main

main()
