#ifndef LIGHTSPEECH_TRAIN_TESTING_READ_EVENTS_H_
#define LIGHTSPEECH_TRAIN_TESTING_READ_EVENTS_H_

// Tests' reader of TensorBoard event files: every event in the file, read with the repository's
// TFRecord reader (CRCs checked); read errors and unparsable events fail the calling test.

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "records/record_io.h"
#include "train/event_writer.h"

namespace lightspeech::train::testing {

inline std::vector<tensorboard::Event> ReadEvents(const std::string& path) {
  std::vector<tensorboard::Event> events;
  auto reader = records::RecordReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return events;
  std::string payload;
  while (true) {
    auto more = (*reader)->Next(&payload);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    tensorboard::Event e;
    EXPECT_TRUE(e.ParseFromString(payload));
    events.push_back(e);
  }
  return events;
}

}  // namespace lightspeech::train::testing

#endif  // LIGHTSPEECH_TRAIN_TESTING_READ_EVENTS_H_
