extension SQLiteSchema {
    /// The column orders an entries table of this schema can have on disk, the current one first: as created now,
    /// as created by an older version whose order differed (L3 before version 4, `legacyL3ColumnOrder`), and each of
    /// those as upgraded in place from a version before the columns `appendedEntryColumns` (ALTER TABLE put them
    /// after every other column). Salvage of a file whose schema SQLite cannot read tries them in turn.
    var entryLayouts: [[String]] {
        let current = entries.columns.map(\.name)
        let created = hasTimestamps ? [current, Self.legacyL3ColumnOrder] : [current]
        var layouts: [[String]] = []
        for base in created {
            if !layouts.contains(base) { layouts.append(base) }
            let appended = Self.appendedEntryColumns
            for start in appended.indices {
                let later = Array(appended[start...])
                let upgraded = base.filter { !later.contains($0) } + later
                if !layouts.contains(upgraded) { layouts.append(upgraded) }
            }
        }
        return layouts
    }
}
