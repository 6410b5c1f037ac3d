import Gateway

/// Whether two values are the same JSON: equal, except that a `.number` matches an `.integer` that rounds to
/// it. `JSONWriter` writes a whole `Double` such as 1e18 or 7.777777777777778e16 (a `.number` when its text had
/// more digits than Foundation's `Decimal` keeps) in its shortest form, which reads back as the `.integer` of
/// that decimal text (77777777777777780, while the `Double` is exactly 77777777777777776).
package func sameJSON(_ left: JSONValue, _ right: JSONValue) -> Bool {
    switch (left, right) {
    case (.number(let double), .integer(let integer)), (.integer(let integer), .number(let double)):
        return Double(integer) == double
    case (.array(let leftItems), .array(let rightItems)):
        return leftItems.count == rightItems.count && zip(leftItems, rightItems).allSatisfy(sameJSON)
    case (.object(let leftMembers), .object(let rightMembers)):
        return leftMembers.count == rightMembers.count
            && leftMembers.allSatisfy { key, value in rightMembers[key].map { sameJSON(value, $0) } ?? false }
    default:
        return left == right
    }
}
