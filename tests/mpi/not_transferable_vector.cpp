// Must NOT compile: a std::vector of a type that cannot cross ranks. cereal's own traits accept
// any std::vector; the test checks that the compiler's error names the vector, not a cereal
// internal.
#include <memory>
#include <mpp/mpi.hpp>
#include <ranges>
#include <vector>

struct NotTransferable {
  std::unique_ptr<int> p;  // not trivially copyable, and no serialize function
};

void use(mpp::mpi::Pool& cluster) {
  (void)cluster.map([](int) { return std::vector<NotTransferable>{}; }, std::views::iota(0, 4));
}
