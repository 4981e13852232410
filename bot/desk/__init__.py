"""The centre's web desk: the review queue, a lab's documents, decisions, admin pages, the dashboard."""
