# mpp_warnings(target): the warnings mpp's own code is built with; the build stays free of them.
function(mpp_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
endfunction()
