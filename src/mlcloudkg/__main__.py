from mlcloudkg.cli import main

main()
