'use strict';
// Drives the npm package aws-kinesis-agg for the Go interoperability test.
//
//   node kpl_agg.cjs NODE_MODULES_DIR aggregate   < cases.json
//   node kpl_agg.cjs NODE_MODULES_DIR deaggregate < kinesis-records.json
//
// Data travels as base64 in JSON on stdin and stdout.
//   aggregate:   [[{partitionKey, explicitHashKey, data}]]  (one list per case)
//             -> [{errors: [string], encoded: [{partitionKey, explicitHashKey, data}]}]
//   deaggregate: [{partitionKey, sequenceNumber, data}]
//             -> [{errors: [string], userRecords: [{partitionKey, explicitPartitionKey,
//                  sequenceNumber, subSequenceNumber, data}]}]
const path = require('path');

const [moduleDir, mode] = process.argv.slice(2);
const agg = require(path.join(moduleDir, 'aws-kinesis-agg'));

function readStdin() {
	const chunks = [];
	return new Promise((resolve, reject) => {
		process.stdin.on('data', (c) => chunks.push(c));
		process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		process.stdin.on('error', reject);
	});
}

function aggregateCase(records) {
	const input = records.map((r) => {
		const rec = { partitionKey: r.partitionKey, data: Buffer.from(r.data, 'base64') };
		if (r.explicitHashKey) {
			rec.explicitHashKey = r.explicitHashKey;
		}
		return rec;
	});
	const result = { errors: [], encoded: [] };
	return new Promise((resolve) => {
		agg.aggregate(input, (encoded, done) => {
			result.encoded.push({
				partitionKey: encoded.partitionKey,
				explicitHashKey: encoded.ExplicitHashKey || '',
				data: encoded.data.toString('base64'),
			});
			done();
		}, () => resolve(result), (err) => result.errors.push(String(err)));
	});
}

function deaggregateRecord(record) {
	const result = { errors: [], userRecords: [] };
	agg.deaggregateSync(record, true, (err, userRecords) => {
		if (err) {
			result.errors.push(String(err));
		}
		if (userRecords) {
			result.userRecords = userRecords.map((u) => ({
				partitionKey: u.partitionKey,
				explicitPartitionKey: u.explicitPartitionKey === undefined ? null : String(u.explicitPartitionKey),
				sequenceNumber: u.sequenceNumber,
				subSequenceNumber: u.subSequenceNumber === undefined ? null : u.subSequenceNumber,
				data: u.data,
			}));
		}
	});
	return result;
}

async function main() {
	const request = JSON.parse(await readStdin());
	let response;
	if (mode === 'aggregate') {
		response = [];
		for (const records of request) {
			response.push(await aggregateCase(records));
		}
	} else if (mode === 'deaggregate') {
		response = request.map(deaggregateRecord);
	} else {
		throw new Error('unknown mode ' + mode);
	}
	process.stdout.write(JSON.stringify(response));
}

main().catch((err) => {
	console.error(err && err.stack ? err.stack : err);
	process.exit(1);
});
