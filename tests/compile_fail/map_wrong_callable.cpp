// Must not compile: map's function takes a std::string, the items are ints. The error names
// the unmet constraint, `mappable`, at the call.
#include <mpp/mpp.hpp>
#include <string>
#include <vector>

int length(const std::string& s) {
  return static_cast<int>(s.size());
}

int main() {
  mpp::Pool pool;
  (void)pool.map(length, std::vector<int>{1, 2, 3});
}
