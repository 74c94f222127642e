// `wick`: inspect, verify, print and compare wick files. See `wick --help`.
#include <iostream>

#include "commands.h"

int main(int argc, char** argv) {
  return wick::cli::run_cli(argc, argv, std::cout, std::cerr);
}
