// Pre-flight of a plugin file: everything we can learn without running any of its code.
//
// Order matters: our own bounds checks on the ELF headers come first, because
// boost::dll::library_info (Boost 1.74) trusts the offsets it reads; then library_info
// confirms the format and lists the sections; last, the dynamic symbol table (what the
// dynamic linker will actually export) is searched for citylink_entry. We read .dynsym
// ourselves because library_info::symbols() in Boost 1.74 reads .symtab, which a stripped
// vendor library does not have and which lists link-time, not exported, symbols.
#include <citylink/abi.h>
#include <citylink/host/error.hpp>
#include <citylink/host/plugin_library.hpp>

#include <algorithm>
#include <boost/dll/library_info.hpp>
#include <cstring>
#include <elf.h>
#include <vector>

namespace citylink::host {
namespace {

#if defined(__x86_64__)
constexpr uint16_t kMachine = EM_X86_64;
constexpr const char* kMachineName = "x86-64";
#elif defined(__aarch64__)
constexpr uint16_t kMachine = EM_AARCH64;
constexpr const char* kMachineName = "aarch64";
#else
#error "add this machine's ELF e_machine here"
#endif

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw LoadError("plugin file '" + path.string() + "' " + what);
}

bool in_bounds(uint64_t offset, uint64_t size, std::size_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

std::string machine_name(uint16_t m) {
  switch (m) {
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "aarch64";
    case EM_386: return "i386";
    case EM_ARM: return "arm";
    case EM_RISCV: return "riscv";
    default: return "machine " + std::to_string(m);
  }
}

}  // namespace

PreflightReport preflight_plugin_file(const std::filesystem::path& path) {
  return preflight_plugin_file(PluginFile::open(path));
}

PreflightReport preflight_plugin_file(const PluginFile& file) {
  const std::filesystem::path& path = file.path();
  const std::vector<char>& bytes = file.bytes();
  const std::size_t size = bytes.size();
  if (size < SELFMAG || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
    fail(path, "is not a shared library (no ELF header); build it with citylink_add_plugin()");
  if (size < sizeof(Elf64_Ehdr)) fail(path, "is truncated (the ELF header is cut off); copy the file again");
  if (bytes[EI_CLASS] != ELFCLASS64 || bytes[EI_DATA] != ELFDATA2LSB)
    fail(path, "is not a 64-bit little-endian ELF library; rebuild it for " + std::string(kMachineName));

  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  if (eh.e_type != ET_DYN) fail(path, "is an ELF file but not a shared library (e_type " + std::to_string(eh.e_type) + ")");
  if (eh.e_machine != kMachine)
    fail(path, "is built for " + machine_name(eh.e_machine) + ", this host runs on " + kMachineName);

  if (eh.e_phentsize != sizeof(Elf64_Phdr) || !in_bounds(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr), size))
    fail(path, "is truncated or corrupt (program headers lie outside the file); copy the file again");
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, bytes.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type == PT_LOAD && !in_bounds(ph.p_offset, ph.p_filesz, size))
      fail(path, "is truncated (a loadable segment ends past the end of the file, " + std::to_string(size) +
                     " bytes); copy the file again");
  }
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 ||
      !in_bounds(eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr), size) || eh.e_shstrndx >= eh.e_shnum)
    fail(path, "is truncated or corrupt (section headers lie outside the file); copy the file again");

  std::vector<Elf64_Shdr> sections(eh.e_shnum);
  std::memcpy(sections.data(), bytes.data() + eh.e_shoff, eh.e_shnum * sizeof(Elf64_Shdr));
  for (const auto& sh : sections)
    if (sh.sh_type != SHT_NOBITS && !in_bounds(sh.sh_offset, sh.sh_size, size))
      fail(path, "is truncated or corrupt (a section lies outside the file); copy the file again");
  // M4 of the review: every string table read here or by library_info must be a real one,
  // inside the file and NUL-terminated, or a name read runs off the end of the buffer.
  auto check_strtab = [&](const Elf64_Shdr& st, const char* which) {
    if (st.sh_type != SHT_STRTAB || st.sh_size == 0 || !in_bounds(st.sh_offset, st.sh_size, size) ||
        bytes[st.sh_offset + st.sh_size - 1] != '\0')
      fail(path, std::string("is corrupt (its ") + which +
                     " string table is missing, outside the file or not NUL-terminated); copy the file again");
  };
  check_strtab(sections[eh.e_shstrndx], "section-name");

  // The format gate proper, now that its reads are known to stay inside the file.
  std::vector<std::string> section_names;
  try {
    boost::dll::library_info info(boost::dll::fs::path(file.open_file_name()), /*throw_if_not_native*/ true);
    section_names = info.sections();
  } catch (const std::exception& e) {
    fail(path, std::string("is not a native shared library: ") + e.what());
  }
  if (std::find(section_names.begin(), section_names.end(), ".dynsym") == section_names.end())
    fail(path, "exports no dynamic symbols (no .dynsym); it is not a CityLink plugin");

  PreflightReport report;
  report.path = path;
  for (const auto& sh : sections) {
    if (sh.sh_type != SHT_DYNSYM) continue;
    if (sh.sh_link >= sections.size() || sh.sh_entsize != sizeof(Elf64_Sym)) fail(path, "has a corrupt .dynsym");
    const Elf64_Shdr& strtab = sections[sh.sh_link];
    check_strtab(strtab, "dynamic symbol");
    const char* names = bytes.data() + strtab.sh_offset;
    for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      std::memcpy(&sym, bytes.data() + sh.sh_offset + off, sizeof sym);
      if (sym.st_shndx == SHN_UNDEF || ELF64_ST_BIND(sym.st_info) == STB_LOCAL) continue;
      if (sym.st_name >= strtab.sh_size) fail(path, "has a corrupt dynamic string table");
      const char* name = names + sym.st_name;
      report.exported_symbols.emplace_back(name, strnlen(name, strtab.sh_size - sym.st_name));
    }
  }
  if (std::find(report.exported_symbols.begin(), report.exported_symbols.end(), CITYLINK_ENTRY_SYMBOL) ==
      report.exported_symbols.end())
    fail(path, "does not export '" CITYLINK_ENTRY_SYMBOL
               "'; it is not a CityLink plugin (define it with CITYLINK_PLUGIN_LIBRARY(...) and build with "
               "citylink_add_plugin())");
  return report;
}

void check_abi_compatible(citylink_abi_version plugin, const std::string& file) {
  // The plugin's stamp means "requires a host of at least major.minor" (abi.h, Versioning).
  const std::string theirs = std::to_string(plugin.major) + "." + std::to_string(plugin.minor);
  const std::string ours =
      std::to_string(CITYLINK_ABI_VERSION_MAJOR) + "." + std::to_string(CITYLINK_ABI_VERSION_MINOR);
  if (plugin.major != CITYLINK_ABI_VERSION_MAJOR)
    throw LoadError("plugin file '" + file + "' was built for CityLink ABI " + theirs + " but this host speaks ABI " +
                    ours + "; a different major version is incompatible: rebuild the plugin against CityLink SDK " +
                    ours + " or upgrade the host to one that speaks ABI " + std::to_string(plugin.major) + ".x");
  if (plugin.minor > CITYLINK_ABI_VERSION_MINOR)
    throw LoadError("plugin file '" + file + "' requires CityLink ABI " + theirs + ", newer than this host's ABI " +
                    ours + "; upgrade the host to one that speaks ABI " + theirs +
                    " or later, or rebuild the plugin against CityLink SDK " + ours +
                    " (without CITYLINK_REQUIRE_ABI_MINOR(" + std::to_string(plugin.minor) + "))");
}

}  // namespace citylink::host
