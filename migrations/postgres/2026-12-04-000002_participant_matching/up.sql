-- Finding the person already on file by their folded name (imports, the
-- walk-in and sign-up matching): one lookup a row, not a scan of everyone.
CREATE INDEX participants_search_name_idx ON participants (search_name);
