# Compiles every shaders/*.comp to SPIR-V at build time (glslangValidator), validates it (spirv-val)
# and embeds it in a generated C++ registry, so no shader file is read at run time.
#
#   vktrain_embed_shaders(OUT_SOURCES <var> SHADER_DIR <dir> INCLUDE_DIR <dir>)
find_program(GLSLANG_VALIDATOR glslangValidator REQUIRED)
find_program(SPIRV_VAL spirv-val REQUIRED)

set(VKTRAIN_SPIRV_ENV vulkan1.2)

function(vktrain_embed_shaders)
  cmake_parse_arguments(ARG "" "OUT_SOURCES;SHADER_DIR;INCLUDE_DIR" "" ${ARGN})
  file(GLOB shader_files CONFIGURE_DEPENDS ${ARG_SHADER_DIR}/*.comp)
  file(GLOB include_files CONFIGURE_DEPENDS ${ARG_INCLUDE_DIR}/*.glsl)
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/spirv)
  file(MAKE_DIRECTORY ${out_dir})
  set(headers)
  set(includes "")
  set(entries "")
  foreach(shader ${shader_files})
    get_filename_component(base ${shader} NAME_WE)
    # A shader that tests VKT_WINDOWS is also built with it defined, as <name>_windows: its
    # variant reading through uniform-buffer windows (shaders/common/vec4_access.glsl).
    file(READ ${shader} source)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${shader})
    set(variants ${base})
    string(FIND "${source}" "VKT_WINDOWS" windowed)
    if(NOT windowed EQUAL -1)
      list(APPEND variants ${base}_windows)
    endif()
    foreach(name ${variants})
      set(defines)
      if(NOT name STREQUAL base)
        set(defines -DVKT_WINDOWS)
      endif()
      set(spv ${out_dir}/${name}.spv)
      set(header ${out_dir}/${name}.spv.h)
      add_custom_command(
        OUTPUT ${header}
        COMMAND ${GLSLANG_VALIDATOR} -V --quiet --target-env ${VKTRAIN_SPIRV_ENV} -I${ARG_INCLUDE_DIR}
                ${defines} -o ${spv} ${shader}
        COMMAND ${SPIRV_VAL} --target-env ${VKTRAIN_SPIRV_ENV} ${spv}
        COMMAND ${GLSLANG_VALIDATOR} -V --quiet --target-env ${VKTRAIN_SPIRV_ENV} -I${ARG_INCLUDE_DIR}
                ${defines} --vn kSpirv_${name} -o ${header} ${shader}
        DEPENDS ${shader} ${include_files}
        COMMENT "SPIR-V ${name}.comp"
        VERBATIM)
      list(APPEND headers ${header})
      string(APPEND includes "#include \"spirv/${name}.spv.h\"\n")
      string(APPEND entries "    {\"${name}\", {kSpirv_${name}, sizeof(kSpirv_${name}) / sizeof(uint32_t)}},\n")
    endforeach()
  endforeach()
  set(registry ${CMAKE_CURRENT_BINARY_DIR}/shader_registry.cpp)
  set(VKTRAIN_SHADER_INCLUDES "${includes}")
  set(VKTRAIN_SHADER_ENTRIES "${entries}")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/shader_registry.cpp.in ${registry} @ONLY)
  set(${ARG_OUT_SOURCES} ${registry} ${headers} PARENT_SCOPE)
endfunction()
