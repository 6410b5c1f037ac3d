import Gateway

/// Whether two values are the same JSON: equal, except that a `.number` and an `.integer` of the same value
/// match. `JSONWriter` writes a whole `Double` such as 1e18 (a `.number` when its text had more digits than
/// Foundation's `Decimal` keeps) as `1e+18`, which reads back as the `.integer` of that value.
package func sameJSON(_ left: JSONValue, _ right: JSONValue) -> Bool {
    switch (left, right) {
    case (.number(let double), .integer(let integer)), (.integer(let integer), .number(let double)):
        return Int64(exactly: double) == integer
    case (.array(let leftItems), .array(let rightItems)):
        return leftItems.count == rightItems.count && zip(leftItems, rightItems).allSatisfy(sameJSON)
    case (.object(let leftMembers), .object(let rightMembers)):
        return leftMembers.count == rightMembers.count
            && leftMembers.allSatisfy { key, value in rightMembers[key].map { sameJSON(value, $0) } ?? false }
    default:
        return left == right
    }
}
