from kling_batch.cli import main

main()
