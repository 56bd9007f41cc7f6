# embed.cmake - a file as a C array: cmake -DIN=file -DOUT=file.c -DNAME=sym -P embed.cmake
# (the built-in web page, engine/serve/page.c). No xxd: CMake alone.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE "${OUT}" "/* generated from ${IN} by tools/embed.cmake: do not edit */\n#include <stddef.h>\nconst unsigned char ${NAME}[] = {${body}0x00};\nconst size_t ${NAME}_len = ${bytes};\n")
