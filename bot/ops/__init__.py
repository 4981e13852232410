"""Operations: backup and restore, health, logging."""
