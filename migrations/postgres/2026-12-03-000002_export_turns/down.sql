DROP TABLE export_turns;
