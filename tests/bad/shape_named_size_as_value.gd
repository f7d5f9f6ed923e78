size h = 8
data x[d], Y
param w[d]
model y = dot(w, x) * h
loss mean((y - Y)^2)
