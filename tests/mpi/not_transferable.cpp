// Must NOT compile: a result type that is neither trivially copyable nor serializable by cereal.
// The test checks that the compiler's error names the type.
#include <memory>
#include <mpp/mpi.hpp>
#include <ranges>

struct NotTransferable {
  std::unique_ptr<int> p;  // not trivially copyable, and no serialize function
};

void use(mpp::mpi::Pool& cluster) {
  (void)cluster.map([](int) { return NotTransferable{}; }, std::views::iota(0, 4));
}
