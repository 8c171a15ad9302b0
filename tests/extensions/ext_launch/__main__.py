from ext_launch import main

main()
