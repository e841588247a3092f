// Names this run's test databases, so the teardown can drop whatever a crashed test left behind.
module.exports = function globalSetup() {
  process.env.EDA_TEST_RUN = `${Date.now().toString(36)}${process.pid}`;
};
