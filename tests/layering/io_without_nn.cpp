// Linked with the core and io objects only (tests/CMakeLists.txt): the program links only if io
// never calls into nn, the link-time half of the rule that io does not depend on nn.
int main() {
  return 0;
}
