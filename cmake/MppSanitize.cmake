# MPP_SANITIZE: sanitizers applied to every target of this build (one option for all presets).
if(MPP_SANITIZE)
  string(REPLACE ";" "," mpp_sanitizers "${MPP_SANITIZE}")
  add_compile_options(-fsanitize=${mpp_sanitizers} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${mpp_sanitizers})
  if("thread" IN_LIST MPP_SANITIZE)
    # Boost.Asio uses std::atomic_thread_fence, which TSan does not model; g++ warns about it.
    add_compile_options(-Wno-tsan)
  endif()
  if("undefined" IN_LIST MPP_SANITIZE)
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()
