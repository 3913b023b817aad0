"""The simulation's runtime drops exactly the test server's known-harmless version
warning from the core's forwarded lines; any other core warning still gets through."""

import logging

from telemetry.sdk_metrics import (
    KNOWN_HARMLESS_TEST_SERVER_LINE,
    SIMULATION_CORE_LOGGER,
    simulation_runtime,
)


def test_only_the_known_harmless_line_is_dropped(caplog):
    simulation_runtime()
    logger = logging.getLogger(SIMULATION_CORE_LOGGER)
    with caplog.at_level(logging.WARNING, logger=SIMULATION_CORE_LOGGER):
        logger.warning(
            "[sdk_core::worker] %s to guarantee heartbeat details", KNOWN_HARMLESS_TEST_SERVER_LINE
        )
        logger.warning("[sdk_core::worker] some other problem")
    assert [r.getMessage() for r in caplog.records] == ["[sdk_core::worker] some other problem"]
