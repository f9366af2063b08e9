-- wrk: enrols a different person with each request, in the session named
-- by the URL. The people are the lines of the file in $BENCH_PEOPLE;
-- thread n of N takes lines n, n + N, n + 2N, …, so no two requests name
-- the same person.
local threads = {}

function setup(thread)
   thread:set("first", #threads)
   table.insert(threads, thread)
end

function init(args)
   people = {}
   for line in io.lines(os.getenv("BENCH_PEOPLE")) do
      table.insert(people, line)
   end
   step = tonumber(os.getenv("BENCH_THREADS") or "2")
   next_person = first + 1
   -- Added to the headers given with -H (the token): wrk.format uses
   -- wrk.headers when given none of its own.
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   local person = people[next_person]
   next_person = next_person + step
   return wrk.format("POST", nil, nil, '{"participant_id":"' .. person .. '"}')
end
