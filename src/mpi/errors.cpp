#include "mpp/mpi/errors.hpp"

#include <cxxabi.h>
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <thread>
#include <typeinfo>

#include "mpp/errors.hpp"

namespace mpp::mpi {

namespace {

std::string describe_where(int rank, const std::string& host, std::int64_t item,
                           const std::string& type_name, const std::string& message) {
  std::ostringstream os;
  os << "mpp::mpi: ";
  if (item >= 0) os << "item " << item << " ";
  os << "failed on rank " << rank << " (host " << host << ") with " << type_name << ": " << message;
  return os.str();
}

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> text(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                              std::free);
  std::string type = status == 0 && text ? std::string(text.get()) : std::string(name);
  // std::throw_with_nested throws a library subclass of the type thrown (TaskTimeoutError with
  // the task's own exception nested, say): name the type the program threw.
  const std::string wrapper = "std::_Nested_exception<";
  if (type.starts_with(wrapper) && type.ends_with(">")) {
    type = type.substr(wrapper.size(), type.size() - wrapper.size() - 1);
  }
  return type;
}

void put_string(std::string& out, const std::string& s) {
  const std::uint64_t n = s.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(s);
}

std::string get_string(const char*& p, const char* end) {
  std::uint64_t n = 0;
  if (end - p < static_cast<std::ptrdiff_t>(sizeof n)) return {};
  std::memcpy(&n, p, sizeof n);
  p += sizeof n;
  if (static_cast<std::uint64_t>(end - p) < n) n = static_cast<std::uint64_t>(end - p);
  std::string s(p, n);
  p += n;
  return s;
}

}  // namespace

RemoteError::RemoteError(int rank, std::string host, std::int64_t item, std::string type_name,
                         std::string message)
    : std::runtime_error(describe_where(rank, host, item, type_name, message)),
      rank_(rank),
      host_(std::move(host)),
      item_(item),
      type_name_(std::move(type_name)),
      message_(std::move(message)) {}

BrokenExecutor::BrokenExecutor(int rank, std::string host, std::string type_name,
                               std::string message)
    : std::runtime_error("mpp::mpi::Executor is broken: the initializer failed on rank " +
                         std::to_string(rank) + " (host " + host + ") with " + type_name + ": " +
                         message + "; no task runs any more, shut the executor down"),
      rank_(rank),
      host_(std::move(host)),
      type_name_(std::move(type_name)),
      message_(std::move(message)) {}

namespace detail {

ErrorRecord describe(const std::exception_ptr& error, int rank, const std::string& host,
                     std::int64_t item) {
  ErrorRecord record{rank, host, item, "unknown exception", ""};
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    record.type_name = demangle(typeid(e).name());
    record.message = e.what();
  } catch (...) {
    if (const std::type_info* type = abi::__cxa_current_exception_type()) {
      record.type_name = demangle(type->name());
    }
    record.message = "(not a std::exception, so it has no message)";
  }
  return record;
}

std::string encode(const ErrorRecord& record) {
  std::string out;
  const std::int64_t head[2] = {record.rank, record.item};
  out.append(reinterpret_cast<const char*>(head), sizeof head);
  put_string(out, record.host);
  put_string(out, record.type_name);
  put_string(out, record.message);
  return out;
}

ErrorRecord decode_error(const char* data, std::size_t size) {
  ErrorRecord record;
  std::int64_t head[2] = {-1, -1};
  if (size < sizeof head) return record;
  std::memcpy(head, data, sizeof head);
  record.rank = static_cast<int>(head[0]);
  record.item = head[1];
  const char* p = data + sizeof head;
  const char* end = data + size;
  record.host = get_string(p, end);
  record.type_name = get_string(p, end);
  record.message = get_string(p, end);
  return record;
}

void throw_remote(const ErrorRecord& record) {
  throw RemoteError(record.rank, record.host, record.item, record.type_name, record.message);
}

void throw_broken(const ErrorRecord& record) {
  throw BrokenExecutor(record.rank, record.host, record.type_name, record.message);
}

void throw_mismatch(const std::string& what) {
  throw CollectiveMismatchError("mpp::mpi: " + what);
}

void throw_mpi_failed(const char* call, int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  // The rank in MPI_COMM_WORLD and the host: what the user finds in the launcher's report and
  // the batch system's logs, whichever communicator failed.
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char host[MPI_MAX_PROCESSOR_NAME] = {};
  int host_length = 0;
  if (MPI_Get_processor_name(host, &host_length) != MPI_SUCCESS) host_length = 0;
  std::ostringstream os;
  os << "mpp::mpi: " << call << " failed on rank " << rank << " of MPI_COMM_WORLD (host "
     << std::string(host, static_cast<std::size_t>(host_length)) << ") with error " << code << ": "
     << (length > 0 ? std::string(text, static_cast<std::size_t>(length))
                    : std::string("(no error string)"));
  throw std::runtime_error(os.str());
}

void throw_usage(const std::string& what) {
  throw UsageError("mpp::mpi: " + what);
}

void throw_too_large(const char* call, std::size_t bytes) {
  throw std::length_error(std::string("mpp::mpi::") + call + ": one rank's part is " +
                          std::to_string(bytes) +
                          " bytes, more than MPI's int counts allow (2 GiB); split the input "
                          "into several calls");
}

void throw_checkpoint_of_root(const std::string& message) {
  throw CheckpointError(message);
}

void abort_job(const std::string& message) noexcept {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort does not return; if it did, the job must still end
}

}  // namespace detail

}  // namespace mpp::mpi
