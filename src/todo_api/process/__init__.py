"""Running the service: start-up (wait for the database, migrate), logging, graceful
shutdown."""
