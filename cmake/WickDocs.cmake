# The API reference: `docs` runs scripts/docs.sh (Doxygen over the public headers, any
# undocumented public declaration an error) into WICK_DOCS_DIR; part of `all` so that
# `cmake --install` and cpack always ship HTML built from the current headers.
find_program(WICK_DOXYGEN doxygen REQUIRED)  # Debian: doxygen (scripts/deps.sh --docs)
find_program(WICK_BASH bash REQUIRED)
set(WICK_DOCS_DIR ${PROJECT_BINARY_DIR}/docs)
file(GLOB_RECURSE wick_public_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/wick/*.h
  ${PROJECT_SOURCE_DIR}/core/include/wick/*.h ${PROJECT_SOURCE_DIR}/nn/include/wick/*.h
  ${PROJECT_SOURCE_DIR}/io/include/wick/*.h ${PROJECT_SOURCE_DIR}/dist/include/wick/*.h)
add_custom_command(OUTPUT ${WICK_DOCS_DIR}/html/index.html
  COMMAND ${WICK_BASH} ${PROJECT_SOURCE_DIR}/scripts/docs.sh ${WICK_DOCS_DIR}
  DEPENDS ${wick_public_headers} ${PROJECT_SOURCE_DIR}/docs/Doxyfile.in
          ${PROJECT_SOURCE_DIR}/scripts/docs.sh ${PROJECT_SOURCE_DIR}/docs/mainpage.md
  COMMENT "Doxygen: API reference into ${WICK_DOCS_DIR}/html" VERBATIM)
add_custom_target(docs ALL DEPENDS ${WICK_DOCS_DIR}/html/index.html)
