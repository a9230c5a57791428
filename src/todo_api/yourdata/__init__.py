"""Your data: the export of everything a user owns, imports from this service and the apps
people leave (Todoist, Google Tasks), and deleting an account."""
