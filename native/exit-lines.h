// Exit records as `delaytop -l` lines (text, or JSON Lines), made natively from a drained
// batch (exit-reader.h's layout) for every record that needs no judgement. Formatting is
// the view's business, not native's (STYLE.md): it is here because a JS object per exit
// cannot be made within -l's budget (docs/performance.md), and only as a copy held to the JS
// formatters byte for byte.
//
// JS stays the one judge and the reference: the plausibility rules (src/model/plausibility.ts)
// and the formatters (src/output/listen.ts). This side only vouches for records that those
// rules cannot flag (every figure inside the thread's life with no slack, no switch-on of
// delay accounting during it) and whose name is printable ASCII; any other record is a hole,
// whose line JS makes. The plans (which fields a version has, where, under which name) are
// built by JS from its layout table (src/kernel/exit-lines.ts); test/kernel/exit-lines.test.ts
// checks every line against the JS formatters, holes included.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lines {

enum class FieldType : uint8_t { U8, U16, U32, U64, Comm, Timespec };

struct PlanField {
  std::string key;  // `"name":`, as JSON writes it
  FieldType type;
  uint32_t offset;
};

struct PlanCategory {
  std::string key;  // CPU, IO, ...
  bool isCpu, isIo;
  int32_t count, total, max;  // offsets; max -1 where the version has none
};

// One taskstats version as sent at its struct size: its fields in layout order, and where
// the fields a line reads are (-1: absent).
struct Plan {
  uint32_t length = 0;  // 0: no plan for this version
  std::vector<PlanField> fields;
  int32_t exitcode = -1, flag = -1, comm = -1, uid = -1, gid = -1, ppid = -1, tgid = -1, etime = -1,
          runVirtual = -1;
  std::vector<PlanCategory> cats;
};

struct Config {
  bool json = false;
  std::vector<Plan> plans;               // indexed by version
  std::vector<std::string> signalNames;  // indexed by signal number; "" = no name
};

struct Hole {
  uint32_t recordOffset;  // where the record starts in the batch
  uint32_t lineOffset;    // where its line goes in the output
};

struct Result {
  size_t next;   // batch offset to go on from (the batch's length when done)
  size_t used;   // output bytes written
  size_t holes;  // holes filled in
};

// Room a line needs at most: the N-API face refuses plans whose widest line would not fit
// (two v17 structs as JSON are under 9 KB).
constexpr size_t kLineRoom = 16 << 10;
// The widest JSON a plan can write for one struct (each field at its widest value).
size_t widestJson(const Plan& p);

// Lines for the records of data[from, len), into out (cap bytes), until the batch ends,
// out has less than kLineRoom left, or holes is full. switchedOnMs: epoch ms of the latest
// switch-on of delay accounting delaytop saw (-infinity: none); a record whose life began
// before it is left to JS. A record that is corrupt (its length runs past the batch) is a
// hole and ends the batch, as the JS walker stops there.
Result formatBatch(const Config& c, const uint8_t* data, size_t len, size_t from, uint8_t* out, size_t cap,
                   double switchedOnMs, Hole* holes, size_t maxHoles);

}  // namespace lines
