from temporal_lens.cli import main

main()
