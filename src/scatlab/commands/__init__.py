"""What the command-line commands do, as functions of keyword arguments (the command line in
:mod:`scatlab.cli` only parses arguments and prints): transform files, synthesize a file, benchmark."""
