// Must not compile: map needs the number of items up front, and this input has none. The
// error names the unmet constraint, `sized_input`; imap is the call for such an input.
#include <mpp/mpp.hpp>
#include <ranges>

int main() {
  mpp::Pool pool;
  auto unsized = std::views::iota(0) | std::views::take_while([](int x) { return x < 10; });
  (void)pool.map([](int x) { return x; }, unsized);
}
