# mpp_warnings(target): the warnings mpp's own code is built with; the build stays free of them,
# and MPP_WERROR (on in the test command) makes any that appear errors.
function(mpp_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(MPP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
