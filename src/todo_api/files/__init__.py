"""Attachments: files on tasks and their comments, their bytes in a folder or an S3 bucket."""
